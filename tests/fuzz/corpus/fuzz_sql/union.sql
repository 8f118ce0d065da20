SELECT region, COUNT(*) AS n, AVG(amount), STDDEV_SAMP(amount)
FROM clinic_a.visits UNION ALL clinic_b.visits b UNION ALL st-mary.visits-2024
WHERE year(visit) = 2024 AND age BETWEEN 18 AND 65
GROUP BY region HAVING COUNT(*) >= 3 ORDER BY n DESC LIMIT 5;