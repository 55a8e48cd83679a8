"""Dec-POMDP models: the core object, sensor networks, `.dpomdp` files and random models."""
