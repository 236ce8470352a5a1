"""seatkeeper's domain: profiles, connections, sync, positions and reclamations.

Plain Python, testable without AWS: storage and secrets sit behind small interfaces.
"""
