SELECT * FROM OfficeUsage
