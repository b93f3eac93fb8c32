SELECT CustomerTenantId, PaidAvailableUnits, MonthlyActiveUsers FROM OfficeUsage WHERE MonthlyActiveUsers > 100000 ORDER BY MonthlyActiveUsers TIMESPAN LAST_6_MONTHS
