SELECT CustomerName FROM OfficeUsage LIMIT 0
