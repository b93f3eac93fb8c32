SELECT CustomerName, FROM OfficeUsage
