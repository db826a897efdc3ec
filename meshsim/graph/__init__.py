"""meshsim.graph"""
