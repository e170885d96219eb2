// The demo shop's catalogue: 12 products in 3 categories, prices in EUR.
window.CATALOGUE = [
  {
    "id": "shirt-linen-blue",
    "name": "Linen shirt, blue",
    "price": 49.9,
    "currency": "EUR",
    "category": "Shirts",
    "image": "assets/img/shirt-linen-blue.svg"
  },
  {
    "id": "shirt-oxford-white",
    "name": "Oxford shirt, white",
    "price": 59.95,
    "currency": "EUR",
    "category": "Shirts",
    "image": "assets/img/shirt-oxford-white.svg"
  },
  {
    "id": "shirt-flannel-red",
    "name": "Flannel shirt, red check",
    "price": 44.0,
    "currency": "EUR",
    "category": "Shirts",
    "image": "assets/img/shirt-flannel-red.svg"
  },
  {
    "id": "shirt-denim",
    "name": "Denim overshirt",
    "price": 69.0,
    "currency": "EUR",
    "category": "Shirts",
    "image": "assets/img/shirt-denim.svg"
  },
  {
    "id": "shoe-runner-grey",
    "name": "Road runner, grey",
    "price": 89.0,
    "currency": "EUR",
    "category": "Shoes",
    "image": "assets/img/shoe-runner-grey.svg"
  },
  {
    "id": "shoe-loafer-brown",
    "name": "Leather loafer, brown",
    "price": 119.0,
    "currency": "EUR",
    "category": "Shoes",
    "image": "assets/img/shoe-loafer-brown.svg"
  },
  {
    "id": "shoe-canvas-white",
    "name": "Canvas sneaker, white",
    "price": 54.5,
    "currency": "EUR",
    "category": "Shoes",
    "image": "assets/img/shoe-canvas-white.svg"
  },
  {
    "id": "shoe-boot-black",
    "name": "Chelsea boot, black",
    "price": 139.0,
    "currency": "EUR",
    "category": "Shoes",
    "image": "assets/img/shoe-boot-black.svg"
  },
  {
    "id": "bag-tote-canvas",
    "name": "Canvas tote bag",
    "price": 19.99,
    "currency": "EUR",
    "category": "Bags",
    "image": "assets/img/bag-tote-canvas.svg"
  },
  {
    "id": "bag-backpack-olive",
    "name": "Roll-top backpack, olive",
    "price": 79.0,
    "currency": "EUR",
    "category": "Bags",
    "image": "assets/img/bag-backpack-olive.svg"
  },
  {
    "id": "bag-weekender",
    "name": "Leather weekender",
    "price": 189.0,
    "currency": "EUR",
    "category": "Bags",
    "image": "assets/img/bag-weekender.svg"
  },
  {
    "id": "bag-crossbody-navy",
    "name": "Crossbody bag, navy",
    "price": 39.9,
    "currency": "EUR",
    "category": "Bags",
    "image": "assets/img/bag-crossbody-navy.svg"
  }
];
