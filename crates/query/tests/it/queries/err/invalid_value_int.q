SELECT CustomerName FROM OfficeUsage WHERE PaidAvailableUnits = 'abc'
