SELECT CustomerName FROM OfficeUsage WHERE CustomerMarket = 'France' OR CustomerMarket = 'Spain'
