SELECT CustomerName FROM OfficeUsage WHERE Month >= '2021-02-30'
