"""Statistics for the staff's board reports (issue 20): conversations started per hour
(counts.py, the only writer of conversation_counts), the cases of case_facts (written by
bot/escalations/facts.py) counted per week or month (report.py), a chart's geometry
(svg.py) and the CSV file (csv_export.py). Nothing here holds text or an identifier: an
hour, a level, category and outcome codes, durations, counts."""
