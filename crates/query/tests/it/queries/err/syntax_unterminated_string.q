SELECT CustomerName FROM OfficeUsage WHERE CustomerName = 'Contoso
