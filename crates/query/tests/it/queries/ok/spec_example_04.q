SELECT CustomerTenantId, Month, MonthlyActiveUsers FROM OfficeUsage WHERE CustomerTpid IN ('2a31c234-1f4e-4c60-909e-76d234f93161', '80780748-3f9a-11eb-b378-0242ac130002')
