# French typographic forms: "6 décembre 2026", "01 h 43".
DATE_FORMAT = "j F Y"
SHORT_DATE_FORMAT = "j F Y"
TIME_FORMAT = "H \\h i"
DATETIME_FORMAT = "j F Y, H \\h i"
SHORT_DATETIME_FORMAT = "j F Y, H \\h i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1
