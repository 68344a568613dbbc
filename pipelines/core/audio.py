"""Audio constants every stage shares."""

SAMPLE_RATE = 16_000
"""The rate (Hz) audio is decoded to and every model and stage works at: whisper, Silero,
pyannote, the voice encoders, the live engine."""
