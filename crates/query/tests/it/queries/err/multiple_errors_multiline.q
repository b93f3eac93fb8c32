SELECT CustomerName,
       Custmer
FROM OfficeUsage
WHERE PaidAvailableUnits > 1.5
ORDER BY Month
TIMESPAN LAST_7_DAYS
