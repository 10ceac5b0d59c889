"""Azure Blob Storage: storage account settings through Azure Resource Manager
(azure-mgmt-storage) and container access levels through the blob service itself
(azure-storage-blob), with read calls only (`api`), subscription-wide discovery, the probe."""
