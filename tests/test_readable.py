from pipeline.readable import format_bytes, format_seconds


def test_sizes_in_powers_of_a_thousand_with_their_sign():
    assert [format_bytes(n) for n in (0, 999, 1000, 2_500_000, 7 * 10**9, -1500)] == [
        "0 B", "999 B", "1.0 kB", "2.5 MB", "7.0 GB", "-1.5 kB"]


def test_durations_in_seconds_minutes_and_hours():
    assert [format_seconds(s) for s in (0.04, 59.94, 61, 3725)] == ["0.0 s", "59.9 s", "1 min 01 s", "1 h 02 min"]
