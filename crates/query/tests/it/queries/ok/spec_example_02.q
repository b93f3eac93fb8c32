SELECT CustomerTenantId, PaidAvailableUnits FROM OfficeUsage ORDER BY PaidAvailableUnits LIMIT 10
