SELECT CustomerName, CustomerTpid, Product FROM CustomersAndTenants WHERE CustomerMarket='United States' TIMESPAN LAST_MONTH
