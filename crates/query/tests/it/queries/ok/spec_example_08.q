SELECT ResellerMpnId, ResellerName, CustomerCount, SubscriptionCount, TotalAvailableSeats, TotalAssignedSeats, TotalRevenue FROM ResellerPerformance WHERE ResellerMpnId='1051000'
