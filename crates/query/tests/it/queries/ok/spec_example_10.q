SELECT MPNId, PartnerName FROM Profile WHERE Country='United States'
