SELECT CustomerName, Month, customername FROM OfficeUsage
