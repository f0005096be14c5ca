"""Mobile dongles (Huawei E3372h): 2G/3G/4G switching, signal, link measurement."""
