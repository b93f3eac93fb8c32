SELECT CustomerTenantId, Month FORM OfficeUsage
