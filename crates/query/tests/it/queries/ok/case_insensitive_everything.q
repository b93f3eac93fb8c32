select distinct customertenantid, MONTH, customercount from officeusage
where CUSTOMERMARKET in ('united states', 'Germany') and customername not like '%contoso%'
order by customercount asc, month limit 5 timespan last_1_year;
