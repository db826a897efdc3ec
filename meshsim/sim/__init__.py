"""meshsim.sim"""
