SELECT CustomerName FROM OfficeUsage LIMIT 5 ORDER BY CustomerName
