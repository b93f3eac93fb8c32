SELECT CustomerName FROM OfficeUsage WHERE PaidAvailableUnits LIKE '1%'
