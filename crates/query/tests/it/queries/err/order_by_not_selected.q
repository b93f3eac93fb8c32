SELECT CustomerTenantId FROM OfficeUsage ORDER BY Month
