"""Small configurations of the field's own models, registered for profiling and as a test suite."""
