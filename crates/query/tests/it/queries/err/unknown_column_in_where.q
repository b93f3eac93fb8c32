SELECT CustomerName FROM OfficeUsage WHERE Markt = 'France'
