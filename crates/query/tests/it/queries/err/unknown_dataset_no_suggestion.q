SELECT CustomerTenantId FROM Bananas
