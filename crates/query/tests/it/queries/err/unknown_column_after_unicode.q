SELECT Naïve, Cüstomer FROM OfficeUsage
