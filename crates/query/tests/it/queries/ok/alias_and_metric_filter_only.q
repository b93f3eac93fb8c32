SELECT ResellerName FROM CloudProductsResellerPerformance WHERE CustomerCount >= 10 AND Month >= '2024-01-01' ORDER BY ResellerName ASC
