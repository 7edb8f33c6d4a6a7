module devplane.local/${{ values.name }}

go 1.22
