"""meshsim.movement"""
