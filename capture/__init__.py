"""The capture file: record a run's events, replay them anywhere.

format.py    the layout, header, schema and record encoding
writer.py    CaptureWriter and RecordingSource (records a live source)
reader.py    CaptureReader: checked, streamed, tolerant of a cut-off file
replay.py    ReplaySource: a capture as an EventSource
"""
