"""journeymap: customer-journey analytics and mapping."""
__version__ = "0.1.0"
