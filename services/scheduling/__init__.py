"""The scheduling service: mentorships of confirmed pairs, their sessions,
reminders, stalled pairs and iCalendar feeds."""
