SELECT CustomerCount, SubscriptionCount FROM DynamicsUsage TIMESPAN LIFETIME
