"""The real-service environment: one module per service.

Tests, the demo and the benchmarks start real services from here, on
127.0.0.1 only, and tear them down afterwards.
"""
