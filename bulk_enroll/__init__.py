"""bulk_enroll: an HR spreadsheet in, exact batched iSpring Learn enrollments out."""

__version__ = "0.1.0"
