"""A complaint opened from a survey answer is named with the customer's words, or the score."""

from __future__ import annotations

from daemon.tickets.conversation import SURVEY_SUBJECT_LENGTH, survey_subject


def test_a_short_comment_is_the_whole_subject() -> None:
    assert survey_subject("  Agennya\n tidak ramah. ", 2) == "Agennya tidak ramah."


def test_a_long_comment_is_cut_at_a_word() -> None:
    subject = survey_subject("Koran " * 40, 1)
    assert subject.endswith("Koran…") and len(subject) <= SURVEY_SUBJECT_LENGTH + 1


def test_without_a_comment_the_score_names_it() -> None:
    assert survey_subject("", 1) == "Survey score 1"
