SELECT CustomerName FROM OfficeUsage WHERE CustomerName = 'a' # comment
