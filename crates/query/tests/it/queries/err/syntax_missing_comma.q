SELECT CustomerTenantId Month FROM OfficeUsage
