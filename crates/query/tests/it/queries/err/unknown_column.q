SELECT Custmer FROM OfficeUsage
