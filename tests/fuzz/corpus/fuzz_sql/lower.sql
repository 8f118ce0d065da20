select month(visit), count(*) from clinic_a.visits -- comment
/* block */ group by month(visit) having avg(age) > 1.5e1 order by count(*) desc, 1 asc