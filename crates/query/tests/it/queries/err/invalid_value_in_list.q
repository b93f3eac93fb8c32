SELECT CustomerName FROM OfficeUsage WHERE PaidAvailableUnits IN (1, 2.5, 3)
