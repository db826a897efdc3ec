"""meshsim.viz"""
