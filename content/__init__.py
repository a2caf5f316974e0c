"""Wagtail pages for partners: articles, quizzes, questionnaires, and engagement records."""
