SELECT CustomerName FROM OfficeUsage WHERE CustomerName LIKE 5
